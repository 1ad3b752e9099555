"""The workspace: server-rendered pages for people who post and check evidence without a programmer."""
