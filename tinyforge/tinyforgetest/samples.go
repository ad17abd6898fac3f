package tinyforgetest

import "github.com/tinyforge/tinyforge-bot/tinyforge"

// SampleWorkloads returns one workload of each source with a realistic
// source_config (ids left empty: AddWorkload numbers them). The dockerfile
// and static ones are GitOps-enabled on github.com/acme/shop and
// github.com/acme/docs.
func SampleWorkloads() []tinyforge.Workload {
	return []tinyforge.Workload{
		{
			Name: "shop-api", Source: tinyforge.SourceDockerfile, GitOpsEnabled: true, GitOpsPath: ".tinyforge.yml",
			SourceConfig: map[string]any{
				"repo_url": "https://github.com/acme/shop.git", "branch": "main",
				"dockerfile_path": "Dockerfile", "build_context": ".",
				"port": 8080, "healthcheck": "/healthz", "deploy_strategy": "recreate",
			},
		},
		{
			Name: "docs-site", Source: tinyforge.SourceStatic, GitOpsEnabled: true, GitOpsPath: ".tinyforge.yml",
			SourceConfig: map[string]any{
				"repo_url": "git@github.com:acme/docs.git", "branch": "gh-pages",
				"build_command": "npm run build", "output_dir": "dist", "deploy_strategy": "",
			},
		},
		{
			Name: "redis", Source: tinyforge.SourceImage,
			SourceConfig: map[string]any{
				"image": "redis:7-alpine", "port": 6379, "pull_policy": "if_not_present",
			},
		},
		{
			Name: "observability", Source: tinyforge.SourceCompose,
			SourceConfig: map[string]any{
				"compose_file": "services:\n  grafana:\n    image: grafana/grafana:11.0.0\n",
				"project_name": "observability",
			},
		},
	}
}
