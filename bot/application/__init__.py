"""The application: settings, the village's wiring, the app, the command line, the demo."""
