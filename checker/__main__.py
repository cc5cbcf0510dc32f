from pagebits.main import main

main()
