"""Not product code: the emulators, the local process stack, the demo, messages read back for tests."""
