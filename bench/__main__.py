from gilbench.bench.cli import main

raise SystemExit(main())
