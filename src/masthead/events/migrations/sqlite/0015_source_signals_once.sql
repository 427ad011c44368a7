-- A signal made by a source that arrives by itself carries a source key that names the item it
-- came from: a feed entry (`feed:`), an analytics trend (`analytics:`), a GitHub delivery
-- (`github:`), a calendar launch lead (`calendar:`), a schedule's tick (`schedule:`). Unique per
-- project, so two pollers racing on the same item (two `masthead serve` processes, or a poll
-- beside `sources poll`) make one signal: the second append is refused inside its transaction.
CREATE UNIQUE INDEX signals_source_once ON signals (project, source)
    WHERE source LIKE 'feed:%' OR source LIKE 'analytics:%' OR source LIKE 'github:%'
       OR source LIKE 'calendar:%' OR source LIKE 'schedule:%';
