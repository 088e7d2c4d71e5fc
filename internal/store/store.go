// Package store owns the MySQL schema (versioned migrations embedded in the binary) and the
// repositories the activities use. Every query is parameterised; large scans page by key.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Open connects to the database named in dsn, creating it first when it does not exist.
// A server that cannot be reached gives an error that says how to reach or start one.
func Open(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("MYSQL_DSN %q is not a valid DSN (want user:pass@tcp(host:port)/db): %w", RedactDSN(dsn), err)
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("MYSQL_DSN %q names no database (want user:pass@tcp(host:port)/db)", RedactDSN(dsn))
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.MultiStatements = false
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"

	if err := createDatabase(ctx, *cfg); err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql connector: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, unreachable(cfg, err)
	}
	return db, nil
}

func createDatabase(ctx context.Context, cfg mysql.Config) error {
	name := cfg.DBName
	cfg.DBName = ""
	connector, err := mysql.NewConnector(&cfg)
	if err != nil {
		return fmt.Errorf("mysql connector: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		return unreachable(&cfg, err)
	}
	// The name cannot be a bind parameter; quote it as an identifier.
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(name)+
		" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

func unreachable(cfg *mysql.Config, err error) error {
	var netErr net.Error
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.As(err, &netErr) || errors.Is(err, mysql.ErrInvalidConn) {
		return fmt.Errorf("cannot reach MySQL at %s (%v): start it (e.g. `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`) or point MYSQL_DSN at a running server", cfg.Addr, err)
	}
	return fmt.Errorf("connect to MySQL at %s as %q: %w", cfg.Addr, cfg.User, err)
}

func quoteIdent(s string) string {
	out := []byte{'`'}
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			out = append(out, '`')
		}
		out = append(out, s[i])
	}
	return string(append(out, '`'))
}

// RedactDSN hides the password of a go-sql-driver DSN (user:***@tcp(…)/db), for messages and
// logs; it works on a DSN that does not parse too. The password is what comes between the
// first colon and the last @ before the address.
func RedactDSN(dsn string) string {
	if at := strings.LastIndex(dsn, "@"); at >= 0 {
		if colon := strings.Index(dsn[:at], ":"); colon >= 0 {
			return dsn[:colon] + ":***" + dsn[at:]
		}
	}
	return dsn
}
