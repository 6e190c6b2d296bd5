"""Activities: creating and proposing them, answers and the waiting list, reminders, calendar files."""
