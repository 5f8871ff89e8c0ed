"""The pytest side of the harness: the plugin pytest loads (plugin: options, session, hooks,
`expect`), its fixtures (fixtures) and its markers (markers, with `requires`)."""
