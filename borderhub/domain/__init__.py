"""Domain knowledge shared by the services: identifiers, MRZ, countries, ports, transliteration."""

from borderhub.compiled import prefer_fresh_sources

prefer_fresh_sources(__name__, __path__[0])  # before the modules: an edited one runs as edited
