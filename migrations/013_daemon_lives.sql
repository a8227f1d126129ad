-- 013: the lives of angorad on this database, one row each (server/store/store_life.c). A life
-- begins at start, says it is alive every few seconds (alive_at), and a clean shutdown sets
-- stopped_at as its last write. So the next start knows how the previous life ended: a row
-- without stopped_at was ended from outside (kill -9, the machine or container stopped), and
-- alive_at is the last moment it was seen running. The scheduler's recovery uses that to tell a
-- run that was stopped together with the daemon (requeued without charging an attempt) from one
-- that outlived it and died on its own (docs/daemon.md, Recovery). A database from before this
-- migration has no row: its previous life is unknown, and recovery charges as it used to.
CREATE TABLE daemon_lives (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pid INTEGER NOT NULL,
    started_at REAL NOT NULL,
    alive_at REAL NOT NULL,
    stopped_at REAL
);
