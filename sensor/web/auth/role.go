package auth

import (
	"fmt"
	"strings"
)

// Role is what a user or token may do. Roles are ordered: an Admin can do
// everything an Analyst can, an Analyst everything a Read-only user can.
type Role string

// The roles.
const (
	// RoleReadOnly sees everything (but secrets) and changes nothing.
	RoleReadOnly Role = "readonly"
	// RoleAnalyst (Security Analyst) also acts on alerts, devices,
	// captures and the baseline, and manages its own API tokens.
	RoleAnalyst Role = "analyst"
	// RoleAdmin also manages users, everyone's tokens and the settings,
	// and reads the audit log.
	RoleAdmin Role = "admin"
)

// Roles lists the roles, weakest first.
func Roles() []Role { return []Role{RoleReadOnly, RoleAnalyst, RoleAdmin} }

func (r Role) level() int {
	switch r {
	case RoleReadOnly:
		return 1
	case RoleAnalyst:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r.level() > 0 }

// AtLeast reports whether r is valid and grants everything min grants.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.level() >= min.level() }

// Title is the role's name for people.
func (r Role) Title() string {
	switch r {
	case RoleReadOnly:
		return "Read-only"
	case RoleAnalyst:
		return "Security Analyst"
	case RoleAdmin:
		return "Admin"
	}
	return string(r)
}

// Weaker returns the weaker of two roles (an invalid role is the weakest).
func Weaker(a, b Role) Role {
	if a.level() <= b.level() {
		return a
	}
	return b
}

// ParseRole reads a role: its ID (admin, analyst, readonly) or its title,
// case-insensitively.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "admin", "administrator":
		return RoleAdmin, nil
	case "analyst", "security analyst", "security-analyst":
		return RoleAnalyst, nil
	case "readonly", "read-only", "read only", "viewer":
		return RoleReadOnly, nil
	}
	return "", fmt.Errorf("%w: unknown role %q (admin, analyst or readonly)", ErrInvalid, s)
}
