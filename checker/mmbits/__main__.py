from mmbits.main import main

main()
