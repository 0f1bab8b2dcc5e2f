//! Stand-in images: one tiny image per service, for smoke tests without real images.
