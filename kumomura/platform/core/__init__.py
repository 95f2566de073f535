"""The ground under everything: settings, errors, time, Japanese text and dates, messages."""
