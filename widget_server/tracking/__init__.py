"""Visitor tracking on Valkey: see tracker.py for the layout, retention and costs, index.py for bulk reads."""

from .index import VisitorIndex
from .models import (Activity, ClientInfo, DayCounters, Departures, Geolocation, HourCounters, OnlinePage, Page, ScanPage, Visit,
                     Visitor, VisitorStatistics)
from .tracker import Tracker

__all__ = ["Activity", "ClientInfo", "DayCounters", "Departures", "Geolocation", "HourCounters", "OnlinePage", "Page", "ScanPage",
           "Tracker", "Visit", "Visitor", "VisitorIndex", "VisitorStatistics"]
