"""Interaction: chat/danmaku now; likes, gifts, polls, Q&A, lotteries and the
co-host queue as they arrive.

Exposes ``service`` (check_send_chat, list_chat), ``events`` (ChatSent) and the
socket ops in ``sockets``.
"""
