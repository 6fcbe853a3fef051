"""The demo province (Sichuan, 136 hospitals, 24 months): deterministic figures (`province`,
`data`) written as real files and taken in through the real pipeline (`build`). Only app/cli
and the tests import this package; production code never does."""
