-- One signal per source item and project (Postgres twin of sqlite/0015): racing pollers of
-- several `masthead serve` processes make one signal, the second append is refused.
CREATE UNIQUE INDEX signals_source_once ON signals (project, source)
    WHERE source LIKE 'feed:%' OR source LIKE 'analytics:%' OR source LIKE 'github:%'
       OR source LIKE 'calendar:%' OR source LIKE 'schedule:%';
