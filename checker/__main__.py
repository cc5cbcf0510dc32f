from pagebits.cli import main

main()
