package learn

import (
	"context"
	"time"
)

// Item is one persisted baseline item: a device, a pair, an operation on a
// pair, a register range, a device flag, a channel profile or the learning
// state. Key is unique and stable; Data is the item's JSON.
type Item struct {
	Key   string    `json:"key"`
	Kind  string    `json:"kind"`
	Data  []byte    `json:"data"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

// Store persists the baseline. The sensor implements it on SQLite in WAL
// mode; Save must be atomic (all of put and del, or nothing), so that a
// crash in the middle of a write leaves the previous baseline intact.
type Store interface {
	LoadBaseline(ctx context.Context) ([]Item, error)
	SaveBaseline(ctx context.Context, put []Item, del []string) error
}
