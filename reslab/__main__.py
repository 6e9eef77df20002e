from reslab.cli.app import main

main()
