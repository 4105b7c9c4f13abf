from qmfa_tui.cli import main

raise SystemExit(main())
