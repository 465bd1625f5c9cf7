"""The local web UI and HTTP API served to the kiosk's touchscreen."""
