"""The listener process: frames in, process_events tasks out."""
