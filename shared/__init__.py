"""The suite's common package: configuration, storage, events, errors, actors.

Plain-Python modules (config, db, envelope, outbox, inbox, errors, actor,
topology) import nothing of nameko; the nameko glue lives in
``shared.nameko_ext`` only, so the transport can be replaced one day.
"""
