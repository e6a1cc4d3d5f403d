from glorotcli.cli.app import main

main()
