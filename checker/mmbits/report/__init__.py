"""Reports people read: Markdown, and one self-contained HTML page with SVG
bit maps of the flags word, the struct page byte map of every overlay, the
free bits of a domain and the timeline of a failing schedule.

Other commands use `mmbits.report.api` (write_layout_report,
write_check_report, write_simulation_report).
"""
