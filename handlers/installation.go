package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
)

// Installation logs installs and repository changes; there is nothing to do
// for them because workloads are looked up per event.
type Installation struct{ *Base }

var _ githubapp.EventHandler = (*Installation)(nil)

func (h *Installation) Handles() []string {
	return []string{"installation", "installation_repositories"}
}

func (h *Installation) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev struct {
		Action       string               `json:"action"`
		Installation *github.Installation `json:"installation"`
		Repositories []*github.Repository `json:"repositories"`
		Added        []*github.Repository `json:"repositories_added"`
		Removed      []*github.Repository `json:"repositories_removed"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse %s event %s: %w", eventType, deliveryID, err)
	}
	zerolog.Ctx(ctx).Info().
		Str("action", ev.Action).
		Int64("installation_id", ev.Installation.GetID()).
		Str("account", ev.Installation.GetAccount().GetLogin()).
		Int("repositories", len(ev.Repositories)+len(ev.Added)).
		Int("repositories_removed", len(ev.Removed)).
		Msg("installation changed")
	return nil
}
