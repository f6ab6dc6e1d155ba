// Package vm is the lifecycle of one moxxie-managed VM inside one datacenter: create with
// collision-free VMIDs, find by identity, read, update, delete. It speaks to Proxmox only through
// a dcrouter.Client and knows nothing of Terraform.
package vm

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"
)

// The identity tag travels with the VM inside Proxmox (tags survive remote migration), so one
// /cluster/resources call per datacenter finds a managed VM wherever it runs.
const identityPrefix = "moxxie-"

var identityTag = regexp.MustCompile(`^moxxie-([0-9a-f]{16})$`)

// NewID returns a fresh identity: 16 lower-case hex characters, valid inside a PVE tag.
func NewID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id has the form NewID produces.
func ValidID(id string) bool { return identityTag.MatchString(identityPrefix + id) }

// IdentityTag is the PVE tag that carries id.
func IdentityTag(id string) string { return identityPrefix + id }

// SplitTags separates moxxie's identity tag from the user's own tags. The user's tags come back
// sorted and de-duplicated, since PVE does not keep their order.
func SplitTags(tags []string) (id string, user []string) {
	seen := map[string]bool{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		if strings.HasPrefix(t, MovePrefix) || t == FencedTag {
			continue // moxxie's records (a move in flight, a fenced copy), not the user's
		}
		if m := identityTag.FindStringSubmatch(t); m != nil {
			if id == "" {
				id = m[1]
			}
			continue
		}
		user = append(user, t)
	}
	sort.Strings(user)
	return id, user
}

// MovePrefix starts the tag a cross-datacenter move puts on the VM while it is in flight
// (see package migration); it travels with the VM's config, so an interrupted move can be
// finished from wherever the VM is.
const MovePrefix = "moxxie-move."

// FencedTag marks a stale copy of a VM that a failover replaced: the copy left in a datacenter
// that came back. Identity searches pass over it and moxxie never starts it.
const FencedTag = "moxxie-fenced"

// IsFenced reports whether tags hold FencedTag.
func IsFenced(tags []string) bool {
	for _, t := range tags {
		if strings.TrimSpace(t) == FencedTag {
			return true
		}
	}
	return false
}

// MoveTag returns the move tag among tags, or "".
func MoveTag(tags []string) string {
	for _, t := range tags {
		if strings.HasPrefix(strings.TrimSpace(t), MovePrefix) {
			return strings.TrimSpace(t)
		}
	}
	return ""
}

// ParseTags splits PVE's tag string; PVE writes ';' but accepts ',' and spaces too.
func ParseTags(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
}

// JoinTags renders the tag list PVE stores: user tags plus the identity tag.
func JoinTags(id string, user []string) string {
	all := append([]string(nil), user...)
	if id != "" {
		all = append(all, IdentityTag(id))
	}
	sort.Strings(all)
	return strings.Join(all, ";")
}
