// Package graph is assetgate's GraphQL API on gqlgen: the schema
// (schema/*.graphqls), the resolvers over the resource services, the @auth
// directive over the scopes table, per-request data loaders, the error
// presenter and the production limits (complexity, depth, field count,
// persisted queries). docs/architecture.md follows one query through it.
package graph

//go:generate sh -c "cd .. && go tool gqlgen generate --config gqlgen.yml"

// Resolver is the dependency root of the resolvers: every resolver reaches
// the services through it. It holds no per-request state (that lives in the
// request's context: the principal and the data loaders).
type Resolver struct {
	deps Deps
	cfg  Config
}
