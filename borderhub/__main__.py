from borderhub.cli import main

main()
