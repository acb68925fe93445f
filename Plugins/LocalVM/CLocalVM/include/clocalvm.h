/* LocalVM namespace launcher: filled in by the LocalVM work. */
