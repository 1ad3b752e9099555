"""The shared agenda: missions, exchanges, trainings, visits, meetings, events, pilot launches."""
