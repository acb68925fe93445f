// LocalVM plugin: filled in by the LocalVM work.
