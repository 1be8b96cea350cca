// Starts GraphiQL against this ingest's /graphql. The API key goes in the Headers tab; it is not
// kept by the page (shouldPersistHeaders: false).
(function () {
  var fetcher = GraphiQL.createFetcher({ url: window.location.pathname.replace(/\/$/, "") });
  var headers = JSON.stringify({ Authorization: "Bearer <your API key>" }, null, 2);
  var query = [
    "# Find any payment: an invoice, a customer, a Xendit id or an event id.",
    "query Invoice($id: String!) {",
    "  invoice(id: $id) {",
    "    integrations { integration status lastError }",
    "    events(first: 20) { nodes { id type createdAt integrations { integration status lastError } } }",
    "  }",
    "}",
  ].join("\n");
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: query,
      defaultHeaders: headers,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: "headers",
    })
  );
})();
