"""The ``appliance`` admin CLI: one module per sub-command, listed in :mod:`appliance.cli.main`."""
