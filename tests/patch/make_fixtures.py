"""Regenerate the patch fixtures in tests/patch/data (run by hand: python tests/patch/make_fixtures.py).

The patches restate the drafts and the merged code of the deferred kernel
page-table freeing work (shared/seeds/001*, 003*; reference doc
deferred-free-and-memdesc.md sections 2.2-2.3) as git format-patch mails.
Hunk headers are computed here so every fixture is a well-formed diff.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"


def hunk(old_start: int, new_start: int, func: str, body: list[str]) -> str:
    old = sum(1 for ln in body if ln[:1] in (" ", "-"))
    new = sum(1 for ln in body if ln[:1] in (" ", "+"))
    return f"@@ -{old_start},{old} +{new_start},{new} @@ {func}\n" + "".join(ln + "\n" for ln in body)


def file_diff(path: str, hunks: list[str], index: str = "0123456789ab..ba9876543210 100644") -> str:
    return f"diff --git a/{path} b/{path}\nindex {index}\n--- a/{path}\n+++ b/{path}\n" + "".join(hunks)


def mail(sha: str, author: str, date: str, subject: str, body: str, diffs: list[str]) -> str:
    return (f"From {sha} Mon Sep 17 00:00:00 2001\nFrom: {author}\nDate: {date}\nSubject: {subject}\n\n"
            f"{body.strip()}\n---\n" + "".join(diffs) + "-- \n2.43.0\n\n")


BAOLU = "Lu Baolu <baolu.lu@linux.intel.com>"

# seeds/001: the one-list draft of 2025-08-27 (Message-ID c69950ee-660b-4f51-9277-522470d0ce5d)
ONE_LIST = mail(
    "3c1d0a5e9f1b2c7d8e4f6a0b1c2d3e4f5a6b7c8d", BAOLU, "Wed, 27 Aug 2025 10:58:31 +0800",
    "[PATCH RFC v3.1] mm: Defer kernel page table freeing through one list",
    """
Queue kernel page-table pages on a single list and free them from a work
item after the IOMMU paging-structure caches are invalidated. A ptdesc
that still needs its destructor is marked with a bit in its flags.

Suggested-by: Dave Hansen <dave.hansen@intel.com>
Signed-off-by: Lu Baolu <baolu.lu@linux.intel.com>
""",
    [file_diff("mm/pgtable-generic.c", [hunk(406, 406, "pte_t *__pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd,", [
        " \tpte_unmap_unlock(pte, ptl);",
        " \tgoto again;",
        " }",
        "+",
        "+#ifdef CONFIG_ASYNC_PGTABLE_FREE",
        "+/* a 'struct ptdesc' that needs its destructor run */",
        "+#define ASYNC_PGTABLE_FREE_DTOR\tBIT(NR_PAGEFLAGS)",
        "+",
        "+static void kernel_pgtable_work_func(struct work_struct *work);",
        "+",
        "+static struct {",
        "+\tstruct list_head list;",
        "+\t/* protect above ptdesc lists */",
        "+\tspinlock_t lock;",
        "+\tstruct work_struct work;",
        "+} kernel_pgtable_work = {",
        "+\t.list = LIST_HEAD_INIT(kernel_pgtable_work.list),",
        "+\t.lock = __SPIN_LOCK_UNLOCKED(kernel_pgtable_work.lock),",
        "+\t.work = __WORK_INITIALIZER(kernel_pgtable_work.work, kernel_pgtable_work_func),",
        "+};",
        "+",
        "+static void kernel_pgtable_work_func(struct work_struct *work)",
        "+{",
        "+\tstruct ptdesc *ptdesc, *next;",
        "+\tLIST_HEAD(page_list);",
        "+",
        "+\tspin_lock(&kernel_pgtable_work.lock);",
        "+\tlist_splice_tail_init(&kernel_pgtable_work.list, &page_list);",
        "+\tspin_unlock(&kernel_pgtable_work.lock);",
        "+",
        "+\tiommu_sva_invalidate_kva_range(0, TLB_FLUSH_ALL);",
        "+",
        "+\tlist_for_each_entry_safe(ptdesc, next, &page_list, pt_list) {",
        "+\t\tlist_del(&ptdesc->pt_list);",
        "+\t\tif (ptdesc->__page_flags & ASYNC_PGTABLE_FREE_DTOR)",
        "+\t\t\tpagetable_dtor_free(ptdesc);",
        "+\t\telse",
        "+\t\t\t__free_page(ptdesc_page(ptdesc));",
        "+\t}",
        "+}",
        "+",
        "+void kernel_pgtable_async_free_dtor(struct ptdesc *ptdesc)",
        "+{",
        "+\tspin_lock(&kernel_pgtable_work.lock);",
        "+\tptdesc->__page_flags |= ASYNC_PGTABLE_FREE_DTOR;",
        "+\tlist_add(&ptdesc->pt_list, &kernel_pgtable_work.list);",
        "+\tspin_unlock(&kernel_pgtable_work.lock);",
        "+",
        "+\tschedule_work(&kernel_pgtable_work.work);",
        "+}",
        "+",
        "+void kernel_pgtable_async_free_page(struct page *page)",
        "+{",
        "+\tspin_lock(&kernel_pgtable_work.lock);",
        "+\tlist_add(&page_ptdesc(page)->pt_list, &kernel_pgtable_work.list);",
        "+\tspin_unlock(&kernel_pgtable_work.lock);",
        "+",
        "+\tschedule_work(&kernel_pgtable_work.work);",
        "+}",
        "+#endif /* CONFIG_ASYNC_PGTABLE_FREE */",
    ])])],
)

# seeds/001 (Dave Hansen's suggestion) and the 2025-08-28 draft
# (Message-ID ee44764b-b9fe-431d-8b84-08fce6b5df75): a bit in __page_type
TYPE_KERNEL = mail(
    "5e7f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b", BAOLU, "Thu, 28 Aug 2025 13:31:07 +0800",
    "[PATCH RFC v3.2] mm: Mark kernel page tables with PTDESC_TYPE_KERNEL",
    """
Dave pointed out that the lower 24 bits of ptdesc->__page_type are free.
Use bit 0 to mark a page table page that maps the kernel address space, so
that pagetable_free() can defer freeing it until the IOMMU is flushed.

Suggested-by: Dave Hansen <dave.hansen@intel.com>
Signed-off-by: Lu Baolu <baolu.lu@linux.intel.com>
""",
    [
        file_diff("include/linux/mm_types.h", [hunk(598, 598, "struct ptdesc {", [
            " #endif",
            " };",
            " ",
            "+/* The ptdesc is used for a kernel page table (bit 0 of the free low 24 bits) */",
            "+#define PTDESC_TYPE_KERNEL\tBIT(0)",
            "+",
            " #define TABLE_MATCH(pg, pt)\t\t\t\t\t\t\\",
        ])]),
        file_diff("include/asm-generic/pgalloc.h", [hunk(58, 58, "static inline void pte_free_kernel(struct mm_struct *mm, pte_t *pte)", [
            " {",
            "-\tpagetable_dtor_free(virt_to_ptdesc(pte));",
            "+\tstruct ptdesc *ptdesc = virt_to_ptdesc(pte);",
            "+",
            "+\tptdesc->__page_type |= PTDESC_TYPE_KERNEL;",
            "+\tpagetable_dtor_free(ptdesc);",
            " }",
        ])]),
        file_diff("include/linux/mm.h", [hunk(2961, 2961, "static inline void pagetable_free(struct ptdesc *pt)", [
            " {",
            " \tstruct page *page = ptdesc_page(pt);",
            " ",
            "-\t__free_pages(page, compound_order(page));",
            "+\tif (pt->__page_type & PTDESC_TYPE_KERNEL)",
            "+\t\tkernel_pgtable_async_free_page(page);",
            "+\telse",
            "+\t\t__free_pages(page, compound_order(page));",
            " }",
        ])]),
    ],
)

# seeds/001: Dave's sketch of pagetable_free(), as a patch: `|` where `&` was meant
BITWISE_OR = mail(
    "6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2", "Dave Hansen <dave.hansen@intel.com>",
    "Wed, 27 Aug 2025 08:12:44 -0700",
    "[RFC PATCH] mm: free kernel page tables asynchronously from pagetable_free()",
    """
All kernel PTE pages should set PTDESC_KERNEL at allocation so that
pagetable_free() reads "if you have a kernel page table page, you must
asynchronously free it".

Signed-off-by: Dave Hansen <dave.hansen@intel.com>
""",
    [file_diff("include/linux/mm.h", [hunk(2955, 2955, "static inline struct ptdesc *virt_to_ptdesc(const void *x)", [
        " \treturn page_ptdesc(virt_to_page(x));",
        " }",
        " ",
        "+#define PTDESC_KERNEL\tBIT(0)",
        "+",
        "+static inline void pagetable_free(struct ptdesc *ptdesc)",
        "+{",
        "+\tstruct page *page = ptdesc_page(ptdesc);",
        "+",
        "+\tif (ptdesc->some_field | PTDESC_KERNEL)",
        "+\t\tkernel_pgtable_async_free_page(page);",
        "+\telse",
        "+\t\t__free_pages(page, compound_order(page));",
        "+}",
    ])])],
)

# the merged design (upstream 27bfafac65d8 "mm: add a ptdesc flag to mark kernel page
# tables"; deferred-free-and-memdesc.md section 2.3): PT_kernel = PG_referenced
MERGED = mail(
    "27bfafac65d8a1b2c3d4e5f60718293a4b5c6d7e", "Dave Hansen <dave.hansen@linux.intel.com>",
    "Wed, 22 Oct 2025 16:26:28 +0800",
    "[PATCH v7 2/8] mm: Add a ptdesc flag to mark kernel page tables",
    """
The page tables used to map the kernel and userspace often have very
different handling rules. There are frequently *_kernel() variants of
functions just for kernel page tables.

Add a flag to 'struct ptdesc' to mark kernel page tables. It is an
ordinary page flag: PG_referenced is benign and not checked at free.

Signed-off-by: Dave Hansen <dave.hansen@linux.intel.com>
Signed-off-by: Lu Baolu <baolu.lu@linux.intel.com>
""",
    [file_diff("include/linux/mm.h", [hunk(2916, 2916, "static inline struct ptdesc *virt_to_ptdesc(const void *x)", [
        " ",
        " /**",
        "  * enum pt_flags = How the ptdesc flags bits are used.",
        "+ * @PT_kernel: Set if the ptdesc is used for kernel page tables",
        "  * @PT_reserved: Used by PowerPC",
        "  *",
        "  * The pt_flags field is intended to contain the same flags as folio->flags.",
        "  */",
        " enum pt_flags {",
        "+\tPT_kernel = PG_referenced,",
        " \tPT_reserved = PG_reserved,",
        " \t/* High bits are used for zone/node/section */",
        " };",
        " ",
        "+/**",
        "+ * ptdesc_set_kernel - Mark a ptdesc used to map the kernel",
        "+ * @ptdesc: The ptdesc to be marked",
        "+ */",
        "+static inline void ptdesc_set_kernel(struct ptdesc *ptdesc)",
        "+{",
        "+\tset_bit(PT_kernel, &ptdesc->pt_flags.f);",
        "+}",
        "+",
        "+static inline void ptdesc_clear_kernel(struct ptdesc *ptdesc)",
        "+{",
        "+\tclear_bit(PT_kernel, &ptdesc->pt_flags.f);",
        "+}",
        "+",
        "+static inline bool ptdesc_test_kernel(const struct ptdesc *ptdesc)",
        "+{",
        "+\treturn test_bit(PT_kernel, &ptdesc->pt_flags.f);",
        "+}",
        "+",
    ])])],
)

PAGETABLE_FREE = mail(
    "5ba2f0a15564b1c2d3e4f5a6b7c8d9e0f1a2b3c4", "Dave Hansen <dave.hansen@linux.intel.com>",
    "Wed, 22 Oct 2025 16:26:31 +0800",
    "[PATCH v7 7/8] mm: Introduce deferred freeing for kernel page tables",
    """
Kernel page table pages are freed through a work item after the IOMMU
paging-structure caches are invalidated.

Signed-off-by: Dave Hansen <dave.hansen@linux.intel.com>
Signed-off-by: Lu Baolu <baolu.lu@linux.intel.com>
""",
    [file_diff("include/linux/mm.h", [hunk(3005, 3005, "static inline void __pagetable_free(struct ptdesc *pt)", [
        " \t__free_pages(page, compound_order(page));",
        " }",
        " ",
        "+#ifdef CONFIG_ASYNC_KERNEL_PGTABLE_FREE",
        "+void pagetable_free_kernel(struct ptdesc *pt);",
        "+#else",
        "+static inline void pagetable_free_kernel(struct ptdesc *pt)",
        "+{",
        "+\t__pagetable_free(pt);",
        "+}",
        "+#endif",
        "+",
        " static inline void pagetable_free(struct ptdesc *pt)",
        " {",
        "-\t__pagetable_free(pt);",
        "+\tif (ptdesc_test_kernel(pt)) {",
        "+\t\tptdesc_clear_kernel(pt);",
        "+\t\tpagetable_free_kernel(pt);",
        "+\t} else {",
        "+\t\t__pagetable_free(pt);",
        "+\t}",
        " }",
    ])])],
)

# a new page flag: NR_PAGEFLAGS grows on every config (page-flags-layout.md cases 6-8)
NEW_FLAG = mail(
    "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d", "A Developer <dev@example.org>",
    "Mon, 12 Jan 2026 09:00:00 +0000",
    "[PATCH] mm: add PG_prezeroed to track pages zeroed ahead of allocation",
    """
Pages zeroed in the background can skip clearing at allocation time.
Track them with a new page flag.

Signed-off-by: A Developer <dev@example.org>
""",
    [file_diff("include/linux/page-flags.h", [hunk(107, 107, "enum pageflags {", [
        " \tPG_swapbacked,\t\t/* Page is backed by RAM/swap */",
        " \tPG_unevictable,\t\t/* Page is \"unevictable\"  */",
        " \tPG_dropbehind,\t\t/* drop pages on IO completion */",
        "+\tPG_prezeroed,\t\t/* zeroed ahead of allocation */",
        " #ifdef CONFIG_MMU",
        " \tPG_mlocked,\t\t/* Page is vma mlocked */",
        " #endif",
    ])])],
)

# a second-page folio flag on a bit of the order byte, and one on a head-only flag
SECOND_PAGE = mail(
    "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e", "A Developer <dev@example.org>",
    "Tue, 13 Jan 2026 10:00:00 +0000",
    "[PATCH] mm: add second-page folio flags for deferred zeroing",
    """
Two per-folio flags kept in the first tail page.

Signed-off-by: A Developer <dev@example.org>
""",
    [
        file_diff("include/linux/page-flags.h", [
            hunk(170, 170, "enum pageflags {", [
                " \t/* Add more flags here */",
                " \tPG_has_hwpoisoned = PG_active,",
                " \tPG_large_rmappable = PG_workingset, /* anon or file-backed */",
                " \tPG_partially_mapped = PG_reclaim, /* was identified to be partially mapped */",
                "+\tPG_zero_pending = PG_uptodate, /* zeroing not finished */",
                "+\tPG_zero_queued = PG_swapbacked, /* on the background zeroing queue */",
                " };",
            ]),
            hunk(880, 882, "FOLIO_FLAG_FALSE(partially_mapped)", [
                " #endif",
                " ",
                "+FOLIO_FLAG(zero_pending, FOLIO_SECOND_PAGE)",
                "+FOLIO_FLAG(zero_queued, FOLIO_SECOND_PAGE)",
                "+",
                " #define PG_head_mask ((1UL << PG_head))",
            ]),
        ]),
    ],
)

NONATOMIC = mail(
    "2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f", "A Developer <dev@example.org>",
    "Wed, 14 Jan 2026 11:00:00 +0000",
    "[PATCH] mm/gup: mark pinned folios referenced",
    """
Set the referenced bit directly; we hold a reference.

Signed-off-by: A Developer <dev@example.org>
""",
    [file_diff("mm/gup.c", [hunk(532, 532, "static struct folio *try_grab_folio_fast(struct page *page, int refs,", [
        " \tif (unlikely(!folio_try_get(folio)))",
        " \t\treturn NULL;",
        " ",
        "+\t__set_bit(PG_referenced, &folio->flags.f);",
        "+",
        " \treturn folio;",
    ])])],
)

# a mail client cut the patch short: the hunk header promises more lines than follow
MALFORMED = ONE_LIST.split("+static void kernel_pgtable_work_func(struct work_struct *work)\n+{")[0]


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    files = {
        "0001-one-list-async-pgtable-free-dtor.patch": ONE_LIST,
        "0002-ptdesc-type-kernel-bit0.patch": TYPE_KERNEL,
        "0003-pagetable-free-bitwise-or.patch": BITWISE_OR,
        "0004-merged-pt-kernel.patch": MERGED,
        "0005-new-page-flag.patch": NEW_FLAG,
        "0006-second-page-flags.patch": SECOND_PAGE,
        "0007-nonatomic-set-bit.patch": NONATOMIC,
        "series-merged.mbox": MERGED + PAGETABLE_FREE,
        "series-mixed.mbox": MERGED + ONE_LIST,
        "truncated-hunk.patch": MALFORMED,
    }
    for name, text in files.items():
        (DATA / name).write_text(text)
    (DATA / "0001-one-list-crlf.patch").write_bytes(ONE_LIST.replace("\n", "\r\n").encode())


if __name__ == "__main__":
    main()
