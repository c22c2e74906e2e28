// A client of Moon written against the types openapi-typescript generated from the live
// document (./.generated/schema.d.ts): type-checked first, so a route, parameter or body the
// document gets wrong fails the build, then run against the server.
import createClient from "openapi-fetch";
import type { paths } from "./schema";

declare const process: { argv: string[] };

const [base, token] = process.argv.slice(2);
const client = createClient<paths>({
  baseUrl: base,
  headers: { Authorization: `Bearer ${token}` },
  querySerializer: { array: { style: "form", explode: false } },
});

function check(ok: boolean, what: string, answer: unknown): void {
  if (!ok) {
    throw new Error(`${what}: ${JSON.stringify(answer)}`);
  }
}

const created = await client.POST("/gadgets:create", {
  body: { data: { name: "Lamp", price: "19.90", qty: 3 } },
});
check(created.response.status === 201, "create", created.error ?? created.data);
// One record answers 201 with it; 207 is for best-effort batches.
const record = created.data && "data" in created.data ? created.data.data : undefined;
const id = record && !Array.isArray(record) ? record.id : "";
check(id.length === 26, "create returns the record", created.data);

await client.POST("/gadgets:create", { body: { data: { name: "Desk", price: "120.00", qty: 1 } } });
const listed = await client.GET("/gadgets:list", {
  params: { query: { price: { gte: "10.00" }, sort: ["-price"], fields: ["name", "price"], limit: 10 } },
});
check(listed.response.status === 200, "list", listed.error);
const names = (listed.data?.data ?? []).map((r) => r.name);
check(JSON.stringify(names) === JSON.stringify(["Desk", "Lamp"]), "list filters and sorts", listed.data);

const got = await client.GET("/gadgets:get", { params: { query: { id } } });
check(got.response.status === 200, "get", got.error);
const one = got.data?.data;
check(!Array.isArray(one) && one?.price === "19.90" && one?.qty === 3, "get reads back", got.data);

const updated = await client.POST("/gadgets:update", { body: { id, data: { qty: 4 } } });
check(updated.response.status === 200, "update", updated.error);
const after = updated.data && "data" in updated.data ? updated.data.data : undefined;
check(!Array.isArray(after) && after?.qty === 4, "update returns the record", updated.data);

const destroyed = await client.POST("/gadgets:destroy", { body: { id } });
check(destroyed.response.status === 200, "destroy", destroyed.error);
const gone = await client.GET("/gadgets:get", { params: { query: { id } } });
check(gone.response.status === 404 && gone.error?.code === "RECORD_NOT_FOUND", "gone", gone.error);

console.log("generated client: create, list, get, update, destroy ok");
