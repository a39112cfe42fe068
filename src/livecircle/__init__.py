"""livecircle: self-hosted live streaming with a community around it (直播 + 社群运营)."""

__version__ = "0.1.0"
