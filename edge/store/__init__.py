"""Everything doorstep keeps on disk under `storage.data_dir`."""
