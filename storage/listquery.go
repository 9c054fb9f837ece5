package storage

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/assetgate/assetgate/resource"
)

// conds collects the conditions of a WHERE clause with their ? arguments,
// in order.
type conds struct {
	clauses []string
	args    []any
}

// add appends one condition and its arguments.
func (c *conds) add(clause string, args ...any) {
	c.clauses = append(c.clauses, clause)
	c.args = append(c.args, args...)
}

// in appends "column IN (?, ...)" for values (which must not be empty).
func (c *conds) in(column string, values []string) {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	c.add(column+" IN ("+marks+")", args...)
}

// where returns the WHERE clause (never empty: every list is confined to
// one customer).
func (c *conds) where() string {
	return " WHERE " + strings.Join(c.clauses, " AND ")
}

// likePattern returns a LIKE pattern that matches s as a substring, with
// LIKE's wildcards in s escaped by a backslash (used with ESCAPE '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// sortColumn is how one sort field of a resource orders rows.
type sortColumn struct {
	expr string
	// nullable columns sort NULL as the smallest value on both databases:
	// first ascending, last descending (SQLite's own rule, spelled out for
	// PostgreSQL).
	nullable bool
	// unique columns (within a customer) need no id after them.
	unique bool
}

// orderBy returns the ORDER BY clause of sort, with the id as the last key
// in the direction of the last field (unless that field is unique), so that
// pages are stable and an index ending in id serves both directions. An unknown field is an internal
// error: services check sort fields before they reach a store.
func orderBy(sort []resource.SortField, columns map[string]sortColumn) (string, error) {
	var parts []string
	desc, unique := false, false
	for _, s := range sort {
		col, ok := columns[s.Field]
		if !ok {
			return "", fmt.Errorf("unknown sort field %q", s.Field)
		}
		dir, nulls := "ASC", "NULLS FIRST"
		if s.Desc {
			dir, nulls = "DESC", "NULLS LAST"
		}
		part := col.expr + " " + dir
		if col.nullable {
			part += " " + nulls
		}
		parts = append(parts, part)
		desc, unique = s.Desc, col.unique
	}
	switch {
	case unique:
	case desc:
		parts = append(parts, "id DESC")
	default:
		parts = append(parts, "id ASC")
	}
	return " ORDER BY " + strings.Join(parts, ", "), nil
}

// countAll returns the count query of a list: "SELECT COUNT(*) FROM
// <table>" with the list's conditions.
func countAll(table string, c *conds) *conds {
	return &conds{clauses: []string{"SELECT COUNT(*) FROM " + table + c.where()}, args: c.args}
}

// listPage runs the count query and, when the page is not past the end, the
// page query of a list: base is "SELECT <columns> FROM <table>", count
// holds a whole query (one clause) and its arguments.
func listPage[T any](ctx context.Context, db *DB, base string, count *conds, c *conds, order string, offset, limit int) ([]T, int, error) {
	var total int
	if err := db.GetContext(ctx, &total, db.Rebind(count.clauses[0]), count.args...); err != nil {
		return nil, 0, fmt.Errorf("count: %w", err)
	}
	rows := []T{}
	offset, limit = max(offset, 0), max(limit, 0)
	if limit == 0 || offset >= total {
		return rows, total, nil
	}
	query, args := pageSQL(base, c, order, offset, limit)
	if err := db.SelectContext(ctx, &rows, db.Rebind(query), args...); err != nil {
		return nil, 0, fmt.Errorf("list: %w", err)
	}
	return rows, total, nil
}

// pageSQL returns the page query of a list and its arguments (with ?
// placeholders).
func pageSQL(base string, c *conds, order string, offset, limit int) (string, []any) {
	return base + c.where() + order + " LIMIT ? OFFSET ?", append(append([]any{}, c.args...), limit, offset)
}

// findMany selects the rows of a customer's table whose id is among ids,
// ordered by id.
func findMany[T any](ctx context.Context, db *DB, base, customerID string, ids []string) ([]T, error) {
	rows := []T{}
	if len(ids) == 0 {
		return rows, nil
	}
	q, args, err := sqlx.In(base+` WHERE customer_id = ? AND id IN (?) ORDER BY id`, customerID, ids)
	if err != nil {
		return nil, err
	}
	if err := db.SelectContext(ctx, &rows, db.Rebind(q), args...); err != nil {
		return nil, err
	}
	return rows, nil
}
