//! orcoursetrion: provisions edX course repositories on GitHub.
