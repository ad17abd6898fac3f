package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-github/v62/github"
	"github.com/palantir/go-githubapp/githubapp"
	"github.com/rs/zerolog"
)

// IssueComment runs /tinyforge commands from new comments on issues and PRs.
type IssueComment struct{ *Base }

var _ githubapp.EventHandler = (*IssueComment)(nil)

func (h *IssueComment) Handles() []string { return []string{"issue_comment"} }

// commentRuns reports whether an issue_comment event may carry a command:
// only new comments by people. Edits and deletions never re-run a command,
// and bots (ourselves included) cannot trigger one.
func commentRuns(action, senderType string) bool {
	return action == "created" && !strings.EqualFold(senderType, "Bot")
}

// Reactions GitHub accepts, used as progress signals on the command comment.
const (
	reactionSeen    = "eyes"
	reactionSuccess = "rocket"
	reactionFailure = "confused"
)

// maxCommentChars is GitHub's limit on a comment body.
const maxCommentChars = 65536

func (h *IssueComment) Handle(ctx context.Context, eventType, deliveryID string, payload []byte) error {
	var ev github.IssueCommentEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("parse issue_comment event %s: %w", deliveryID, err)
	}
	if !commentRuns(ev.GetAction(), ev.GetSender().GetType()) {
		return nil
	}
	cmd := ParseComment(ev.GetComment().GetBody())
	if cmd.Kind == CommandIgnore {
		return nil
	}
	repo := refOf(ev.GetRepo())
	ctx, logger := githubapp.PreparePRContext(ctx, githubapp.GetInstallationIDFromEvent(&ev), ev.GetRepo(), ev.GetIssue().GetNumber())
	client, err := h.installationClient(&ev)
	if err != nil {
		return fmt.Errorf("github client: %w", err)
	}
	c := &commandRun{
		Base: h.Base, client: client, repo: repo, deliveryID: deliveryID,
		issue: ev.GetIssue(), comment: ev.GetComment(), actor: ev.GetComment().GetUser(),
		defaultBranch: ev.GetRepo().GetDefaultBranch(), logger: logger,
	}
	if c.actor == nil || c.actor.GetLogin() == "" {
		c.actor = ev.GetSender()
	}
	if err := c.react(ctx, reactionSeen); err != nil {
		return err
	}
	var reply string
	ok := true
	switch cmd.Kind {
	case CommandHelp:
		reply = helpText
		if cmd.Problem != "" {
			reply = "I did not understand that: " + cmd.Problem + ".\n\n" + helpText
			ok = false
		}
	case CommandPlan:
		reply, ok = c.plan(ctx)
	case CommandSync:
		reply, ok = c.sync(ctx, cmd.Workloads)
	}
	if reply != "" {
		if err := c.reply(ctx, reply); err != nil {
			return err
		}
	}
	end := reactionSuccess
	if !ok {
		end = reactionFailure
	}
	if cmd.Kind != CommandHelp || !ok {
		return c.react(ctx, end)
	}
	return nil
}

// commandRun is one command being carried out.
type commandRun struct {
	*Base
	client *github.Client
	repo   repoRef
	// defaultBranch is what a workload without a branch tracks.
	defaultBranch string
	deliveryID    string
	issue         *github.Issue
	comment       *github.IssueComment
	actor         *github.User
	logger        zerolog.Logger
}

func (c *commandRun) react(ctx context.Context, content string) error {
	_, _, err := c.client.Reactions.CreateIssueCommentReaction(ctx, c.repo.Owner, c.repo.Name, c.comment.GetID(), content)
	if err != nil {
		return fmt.Errorf("react %s to comment %d in %s: %w", content, c.comment.GetID(), c.repo.FullName(), err)
	}
	return nil
}

func (c *commandRun) reply(ctx context.Context, body string) error {
	body = truncateChars(body, maxCommentChars, "\n\n… (truncated: GitHub shows at most 65,536 characters in a comment)\n")
	_, _, err := c.client.Issues.CreateComment(ctx, c.repo.Owner, c.repo.Name, c.issue.GetNumber(), &github.IssueComment{Body: github.String(body)})
	if err != nil {
		return fmt.Errorf("reply on %s#%d: %w", c.repo.FullName(), c.issue.GetNumber(), err)
	}
	return nil
}

// truncateChars cuts s to at most limit characters (GitHub counts comment
// length in characters), ending with marker.
func truncateChars(s string, limit int, marker string) string {
	runes := []rune(s)
	if len(runes) <= limit {
		return s
	}
	return string(runes[:limit-len([]rune(marker))]) + marker
}
