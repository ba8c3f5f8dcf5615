"""Argument Interchange Format (AIF), in the JSON layout of AIFdb: one document per corpus.

`{"nodes": [...], "edges": [...], "locutions": []}`. Each exported claim is an I-node (its text
is the claim's `exact`); each relation is a scheme node between two I-nodes: supports -> RA
("Default Inference"), attacks -> CA ("Default Conflict"), rephrases -> MA ("Default
Rephrase"), with the edges source I-node -> S-node -> target I-node. Node ids are unique in the
document and stable across exports: `c<claim id>` for I-nodes, `r<relation id>` for S-nodes;
edge ids are `r<relation id>-in` / `-out`. The claims of a claim group are linked as rephrases
of the group's first exported claim: an MA node `g<group id>-c<claim id>` between them.

All nodes must come before the edges, yet both come from the same rows: the edges are written
to a temporary file while the nodes stream, then copied out, so memory stays flat.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

from .reader import read_articles
from .spec import ExportFormat, ExportSpec
from .streaming import CHUNK_BYTES, compact_json

SCHEMES = {
    "supports": ("RA", "Default Inference"),
    "attacks": ("CA", "Default Conflict"),
    "rephrases": ("MA", "Default Rephrase"),
}
SPOOL_BYTES = 1024 * 1024


def _timestamp(moment: str) -> str:
    # AIFdb writes "YYYY-MM-DD HH:MM:SS"; the reader gives the database's text.
    return f"{moment[:10]} {moment[11:19]}"


def _node(node_id: str, text: str, kind: str, moment) -> dict:
    return {"nodeID": node_id, "text": text, "type": kind, "timestamp": _timestamp(moment)}


def write(spec: ExportSpec) -> Iterator[bytes]:
    encode = compact_json()
    # The first exported claim of each claim group: the group's other claims are linked to it
    # by an MA (rephrase) node `g<group id>-c<claim id>`.
    group_heads: dict[str, str] = {}
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b") as edges:
        yield b'{"nodes":['
        nodes: list[str] = []
        size = 0
        n_nodes = n_edges = 0
        for article in read_articles(spec.corpus, spec.filters, parts=spec.format.parts):
            for claim in article.claims:
                piece = (
                    ("," if n_nodes else "")
                    + "\n"
                    + encode(_node(f"c{claim.id}", claim.exact, "I", claim.created_at))
                )
                nodes.append(piece)
                size += len(piece)
                n_nodes += 1
            edge_pieces = []
            for claim in article.claims:
                if claim.group is None:
                    continue
                head = group_heads.setdefault(claim.group["id"], f"c{claim.id}")
                if head == f"c{claim.id}":
                    continue
                node_id = f"g{claim.group['id']}-c{claim.id}"
                piece = (
                    ","
                    + "\n"
                    + encode(_node(node_id, SCHEMES["rephrases"][1], "MA", claim.created_at))
                )
                nodes.append(piece)
                size += len(piece)
                n_nodes += 1
                for edge_id, from_id, to_id in (
                    (f"{node_id}-in", head, node_id),
                    (f"{node_id}-out", node_id, f"c{claim.id}"),
                ):
                    edge = {"edgeID": edge_id, "fromID": from_id, "toID": to_id, "formEdgeID": None}
                    edge_pieces.append(("," if n_edges else "") + "\n" + encode(edge))
                    n_edges += 1
            for relation in article.relations:
                scheme, text = SCHEMES[relation.kind]
                node_id = f"r{relation.id}"
                piece = (
                    ("," if n_nodes else "")
                    + "\n"
                    + encode(_node(node_id, text, scheme, relation.created_at))
                )
                nodes.append(piece)
                size += len(piece)
                n_nodes += 1
                source = f"c{article.claims[relation.source].id}"
                target = f"c{article.claims[relation.target].id}"
                for edge_id, from_id, to_id in (
                    (f"{node_id}-in", source, node_id),
                    (f"{node_id}-out", node_id, target),
                ):
                    edge = {"edgeID": edge_id, "fromID": from_id, "toID": to_id, "formEdgeID": None}
                    edge_pieces.append(("," if n_edges else "") + "\n" + encode(edge))
                    n_edges += 1
            if edge_pieces:
                edges.write("".join(edge_pieces).encode("utf-8"))
            if size >= CHUNK_BYTES:
                yield "".join(nodes).encode("utf-8")
                nodes, size = [], 0
        if nodes:
            yield "".join(nodes).encode("utf-8")
        yield b'\n],"edges":['
        edges.seek(0)
        while chunk := edges.read(CHUNK_BYTES):
            yield chunk
        yield b'\n],"locutions":[]}\n'


FORMAT = ExportFormat(
    name="aif",
    extension="json",
    content_type="application/json",
    writer=write,
    parts=frozenset({"relations", "context"}),
)
