from omctl.cli.main import main

main()
