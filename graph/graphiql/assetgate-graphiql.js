// Starts GraphiQL on the page served at the GraphQL endpoint. The endpoint's
// path comes from the data-endpoint attribute of #graphiql, so the page needs
// no inline script (its Content-Security-Policy allows scripts of its own
// origin only). Queries and mutations go over HTTP; subscriptions over the
// graphql-transport-ws WebSocket on the same path. Put the bearer token in
// the Headers tab: {"Authorization": "Bearer agat_..."}; GraphiQL sends the
// headers with HTTP requests and in the WebSocket's connection_init payload.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var path = root.getAttribute("data-endpoint") || "/graphql";
  var url = location.origin + path;
  var ws = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  // The Headers tab goes with HTTP requests and into a subscription's
  // connection_init payload.
  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: ws });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
      defaultHeaders: '{\n  "Authorization": "Bearer "\n}',
    })
  );
})();
