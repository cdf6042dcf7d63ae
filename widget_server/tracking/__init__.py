"""Visitor tracking on Valkey: see tracker.py for the layout, retention and costs."""

from .models import Activity, DayCounters, OnlinePage, Page, Visit, Visitor, VisitorStatistics
from .tracker import Tracker

__all__ = ["Activity", "DayCounters", "OnlinePage", "Page", "Tracker", "Visit", "Visitor", "VisitorStatistics"]
