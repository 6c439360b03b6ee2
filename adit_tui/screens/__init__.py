"""The app's screens: one per mode, plus modals.

Explorer and Transfer (explorer.py, transfer.py, tags.py, confirm_transfer.py) and Jobs
and Servers (jobs.py, servers.py) are separate so each can be worked on alone.
"""
