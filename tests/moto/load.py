#!/usr/bin/env python3
"""Loads a CloudWatch Logs emulator with an EKS-like audit log group, for ktrail's tests.

Creates the log group /aws/eks/ironman-2022/cluster the way EKS lays it out:
  - two kube-apiserver-audit-<hex> streams holding more than 10,000 audit.k8s.io/v1 events,
    spread over both (pod stories with mutating webhook annotations, denied creates, a pod
    recreated under the same name, generateName pods, evictions, exec; plus noise from
    kubelets, controllers and leases, one burst second, a few exact duplicates and two
    non-JSON lines),
  - a kube-apiserver-<hex> stream and an authenticator-<hex> stream with klog/logrus lines.

Writes the same audit stream lines, in time order, to OUT/audit.jsonl (for the offline
comparison) and a description of the load to OUT/manifest.json.

Usage: load.py --port PORT --out DIR [--seed N] [--minutes M] [--noise N]
The data is deterministic for a given seed, anchored a few hours before now (the emulator
refuses events older than 14 days).
"""

import argparse
import datetime as dt
import json
import os
import random
import sys
import uuid

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_REGION", "us-east-1")
for var in ("NO_PROXY", "no_proxy"):
    os.environ[var] = ",".join(x for x in (os.environ.get(var), "127.0.0.1", "localhost") if x)

import boto3  # noqa: E402  (installed with moto)

CLUSTER = "ironman-2022"
GROUP = f"/aws/eks/{CLUSTER}/cluster"
FARGATE_NODE = "fargate-ip-192-168-185-38.eu-west-1.compute.internal"
NODES = [
    "ip-192-168-65-212.eu-west-1.compute.internal",
    "ip-192-168-12-40.eu-west-1.compute.internal",
    "ip-192-168-77-9.eu-west-1.compute.internal",
]
KUBECTL = "kubectl/v1.22.12 (linux/amd64) kubernetes/dade57b"
KUBELET = "kubelet/v1.22.6 (linux/amd64) kubernetes/35f06c9"
SCHEDULER_UA = "kube-scheduler/v1.22.6 (linux/amd64) kubernetes/35f06c9/scheduler"
FARGATE_UA = "fargate-scheduler/v1.22.6 (linux/amd64) kubernetes/35f06c9"
RS_UA = "kube-controller-manager/v1.22.6 (linux/amd64) kubernetes/35f06c9/system:serviceaccount:kube-system:replicaset-controller"


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ms(t):
    return int(t.timestamp() * 1000)


class Gen:
    def __init__(self, seed, t0):
        self.rng = random.Random(seed)
        self.t0 = t0
        self.records = []  # (time, message)

    def uid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def micro(self, lo=200, hi=9000):
        return dt.timedelta(microseconds=self.rng.randint(lo, hi))

    def request(self, t, verb, user, ua, obj_ref, uri, code=200, level="Metadata", groups=None,
                req=None, resp=None, annotations=None, stages=("RequestReceived", "ResponseComplete"),
                status_message=None):
        """Emits one request as one record per stage; returns the ResponseComplete time."""
        audit_id = self.uid()
        done = t + self.micro()
        for stage in stages:
            ev = {
                "kind": "Event",
                "apiVersion": "audit.k8s.io/v1",
                "level": level,
                "auditID": audit_id,
                "stage": stage,
                "requestURI": uri,
                "verb": verb,
                "user": {"username": user, "groups": groups or ["system:authenticated"]},
                "sourceIPs": ["192.168.65.212"],
                "userAgent": ua,
                "objectRef": obj_ref,
            }
            stage_time = t if stage == "RequestReceived" else done
            if stage != "RequestReceived":
                status = {"metadata": {}, "code": code}
                if code >= 400:
                    status["status"] = "Failure"
                    status["message"] = status_message or "forbidden"
                    status["reason"] = "Forbidden" if code == 403 else "Invalid"
                ev["responseStatus"] = status
            if req is not None and level == "RequestResponse":
                ev["requestObject"] = req
            if resp is not None and level == "RequestResponse" and stage == "ResponseComplete":
                ev["responseObject"] = resp
            ev["requestReceivedTimestamp"] = ts(t)
            ev["stageTimestamp"] = ts(stage_time)
            ann = {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
            if stage == "ResponseComplete" and annotations:
                ann.update(annotations)
            ev["annotations"] = ann
            self.records.append((stage_time, json.dumps(ev, separators=(",", ":"))))
        return done

    # ---- pods -------------------------------------------------------------------------------

    def pod_spec(self, name, image, scheduler="default-scheduler", labels=None, generate=None):
        meta = {"namespace": None, "labels": labels or {"run": name or generate.rstrip("-")}}
        if name:
            meta["name"] = name
        if generate:
            meta["generateName"] = generate
        return {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": meta,
            "spec": {
                "containers": [{
                    "name": (name or generate).rstrip("-").split("-")[0],
                    "image": image,
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "Always",
                }],
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirst",
                "securityContext": {},
                "schedulerName": scheduler,
                "enableServiceLinks": True,
            },
            "status": {},
        }

    def pod_story(self, t, ns, name, image="nginx", fargate=False, generate=None, creator="kubernetes-admin",
                  creator_ua=KUBECTL, node=None, ready=True, delete=None, exec_=False, sidecar=False,
                  extra_labels=None):
        """A pod's create, webhook mutations, binding, status patches and optional end."""
        uid = self.uid()
        real = name or generate + "".join(self.rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        req = self.pod_spec(name, image, labels=extra_labels, generate=generate)
        req["metadata"]["namespace"] = ns
        resp = json.loads(json.dumps(req))
        resp["metadata"].update({
            "name": real,
            "namespace": ns,
            "uid": uid,
            "resourceVersion": str(self.rng.randint(100000, 999999)),
            "creationTimestamp": ts(t).split(".")[0] + "Z",
        })
        annotations = {}
        patches = []
        round_index = 0
        if fargate:
            patch = [
                {"op": "add", "path": "/spec/schedulerName", "value": "fargate-scheduler"},
                {"op": "add", "path": "/spec/priorityClassName", "value": "system-node-critical"},
                {"op": "add", "path": "/spec/priority", "value": 2000001000},
                {"op": "add", "path": "/metadata/labels",
                 "value": {"eks.amazonaws.com/fargate-profile": "demo-profile", "run": real}},
            ]
            cfg = "0500-amazon-eks-fargate-mutation.amazonaws.com"
            annotations["mutation.webhook.admission.k8s.io/round_0_index_0"] = json.dumps(
                {"configuration": cfg, "webhook": cfg, "mutated": True}, separators=(",", ":"))
            annotations["patch.webhook.admission.k8s.io/round_0_index_0"] = json.dumps(
                {"configuration": cfg, "webhook": cfg, "patch": patch, "patchType": "JSONPatch"},
                separators=(",", ":"))
            resp["spec"]["schedulerName"] = "fargate-scheduler"
            resp["spec"]["priorityClassName"] = "system-node-critical"
            resp["spec"]["priority"] = 2000001000
            resp["metadata"]["labels"] = {"eks.amazonaws.com/fargate-profile": "demo-profile", "run": real}
            round_index = 2
        if sidecar:
            patch = [
                {"op": "add", "path": "/spec/containers/-",
                 "value": {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.15.0"}},
                {"op": "add", "path": "/metadata/annotations",
                 "value": {"sidecar.istio.io/status": "{\"containers\":[\"istio-proxy\"]}"}},
            ]
            key = f"round_0_index_{round_index}"
            annotations[f"mutation.webhook.admission.k8s.io/{key}"] = json.dumps(
                {"configuration": "istio-sidecar-injector", "webhook": "sidecar-injector.istio.io", "mutated": True},
                separators=(",", ":"))
            annotations[f"patch.webhook.admission.k8s.io/{key}"] = json.dumps(
                {"configuration": "istio-sidecar-injector", "webhook": "sidecar-injector.istio.io",
                 "patch": patch, "patchType": "JSONPatch"}, separators=(",", ":"))
            resp["spec"]["containers"].append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.15.0"})
            resp["metadata"]["annotations"] = {"sidecar.istio.io/status": "{\"containers\":[\"istio-proxy\"]}"}
            round_index += 1
        annotations[f"mutation.webhook.admission.k8s.io/round_0_index_{round_index}"] = json.dumps(
            {"configuration": "pod-identity-webhook", "webhook": "iam-for-pods.amazonaws.com", "mutated": False},
            separators=(",", ":"))
        annotations[f"mutation.webhook.admission.k8s.io/round_0_index_{round_index + 1}"] = json.dumps(
            {"configuration": "vpc-resource-mutating-webhook", "webhook": "mpod.vpc.k8s.aws", "mutated": False},
            separators=(",", ":"))
        # The defaults the API server fills in (not explained by any webhook).
        resp["spec"]["serviceAccountName"] = "default"
        resp["spec"]["serviceAccount"] = "default"
        resp["spec"]["tolerations"] = [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]
        resp["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        obj = {"resource": "pods", "namespace": ns, "apiVersion": "v1"}
        if name:
            obj["name"] = name
        t = self.request(t, "create", creator, creator_ua, obj, f"/api/v1/namespaces/{ns}/pods", code=201,
                         level="RequestResponse", req=req, resp=resp, annotations=annotations)
        ref = {"resource": "pods", "namespace": ns, "name": real, "apiVersion": "v1"}
        if fargate:
            t += dt.timedelta(milliseconds=self.rng.randint(800, 1500))
            upd = json.loads(json.dumps(resp))
            upd["metadata"]["annotations"] = {"CapacityProvisioned": "0.25vCPU 0.5GB",
                                              "Logging": "LoggingDisabled: LOGGING_CONFIGMAP_NOT_FOUND"}
            t = self.request(t, "update", "eks:fargate-scheduler", FARGATE_UA, dict(ref, uid=uid),
                             f"/api/v1/namespaces/{ns}/pods/{real}", level="RequestResponse", req=upd, resp=upd)
            node = FARGATE_NODE
            binder, binder_ua = "eks:fargate-scheduler", FARGATE_UA
        else:
            node = node or self.rng.choice(NODES)
            binder, binder_ua = "system:kube-scheduler", SCHEDULER_UA
        t += dt.timedelta(milliseconds=self.rng.randint(20, 60000 if fargate else 900))
        binding = {"kind": "Binding", "apiVersion": "v1",
                   "metadata": {"name": real, "namespace": ns, "uid": uid, "creationTimestamp": None},
                   "target": {"kind": "Node", "name": node}}
        t = self.request(t, "create", binder, binder_ua, dict(ref, subresource="binding"),
                         f"/api/v1/namespaces/{ns}/pods/{real}/binding", code=201, level="RequestResponse",
                         req=binding, resp={"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
        kubelet = f"system:node:{node}"
        for phase, ready_flag in (("Pending", "False"), ("Running", "True" if ready else "False")):
            t += dt.timedelta(milliseconds=self.rng.randint(20, 7000))
            patch = {"metadata": {"uid": uid}, "status": {
                "phase": phase,
                "conditions": [{"type": "Ready", "status": ready_flag, "lastTransitionTime": ts(t).split(".")[0] + "Z"}]}}
            t = self.request(t, "patch", kubelet, KUBELET, dict(ref, subresource="status"),
                             f"/api/v1/namespaces/{ns}/pods/{real}/status", level="RequestResponse",
                             groups=["system:nodes", "system:authenticated"], req=patch, resp=None)
        if exec_:
            t += dt.timedelta(seconds=self.rng.randint(5, 60))
            t = self.request(t, "create", "kubernetes-admin", KUBECTL, dict(ref, subresource="exec"),
                             f"/api/v1/namespaces/{ns}/pods/{real}/exec?command=sh&container=nginx&stdin=true&tty=true",
                             code=101, stages=("RequestReceived", "ResponseStarted", "ResponseComplete"))
        if delete == "delete":
            t += dt.timedelta(seconds=self.rng.randint(30, 300))
            t = self.request(t, "delete", "kubernetes-admin", KUBECTL, ref, f"/api/v1/namespaces/{ns}/pods/{real}",
                             level="RequestResponse",
                             req={"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": uid}})
        elif delete == "eviction":
            t += dt.timedelta(seconds=self.rng.randint(30, 300))
            t = self.request(t, "create", "system:serviceaccount:kube-system:cluster-autoscaler",
                             "cluster-autoscaler/v1.22.2", dict(ref, subresource="eviction"),
                             f"/api/v1/namespaces/{ns}/pods/{real}/eviction", code=201, level="RequestResponse",
                             req={"kind": "Eviction", "apiVersion": "policy/v1",
                                  "metadata": {"name": real, "namespace": ns}})
        return real, uid, t

    def denied(self, t, ns, name, webhook):
        req = self.pod_spec(name, "busybox")
        req["metadata"]["namespace"] = ns
        msg = (f'admission webhook "{webhook}" denied the request: '
               "container busybox must not run as root")
        self.request(t, "create", "kubernetes-admin", KUBECTL,
                     {"resource": "pods", "namespace": ns, "name": name, "apiVersion": "v1"},
                     f"/api/v1/namespaces/{ns}/pods", code=400, level="RequestResponse", req=req,
                     status_message=msg)

    # ---- noise ------------------------------------------------------------------------------

    def noise(self, t):
        kind = self.rng.random()
        if kind < 0.35:
            node = self.rng.choice(NODES)
            self.request(t, "update", f"system:node:{node}", KUBELET,
                         {"resource": "leases", "namespace": "kube-node-lease", "name": node,
                          "apiGroup": "coordination.k8s.io", "apiVersion": "v1"},
                         f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}?timeout=10s",
                         stages=("ResponseComplete",))
        elif kind < 0.55:
            node = self.rng.choice(NODES)
            ns = self.rng.choice(["default", "fargate-ns", "team-a", "kube-system"])
            pod = self.rng.choice(["nginx", "coredns-5948f55769-8xk2v", "aws-node-7x2kq", "web-1"])
            self.request(t, "get", f"system:node:{node}", KUBELET,
                         {"resource": "pods", "namespace": ns, "name": pod, "apiVersion": "v1"},
                         f"/api/v1/namespaces/{ns}/pods/{pod}", groups=["system:nodes", "system:authenticated"],
                         stages=("ResponseComplete",))
        elif kind < 0.70:
            self.request(t, "watch", "system:kube-scheduler", SCHEDULER_UA,
                         {"resource": "pods", "apiVersion": "v1"},
                         "/api/v1/pods?allowWatchBookmarks=true&watch=true", stages=("RequestReceived", "ResponseStarted"))
        elif kind < 0.85:
            name = self.rng.choice(["kube-root-ca.crt", "aws-auth", "coredns", "extension-apiserver-authentication"])
            self.request(t, "get", "system:serviceaccount:kube-system:coredns", "coredns/v1.8.4",
                         {"resource": "configmaps", "namespace": "kube-system", "name": name, "apiVersion": "v1"},
                         f"/api/v1/namespaces/kube-system/configmaps/{name}", stages=("ResponseComplete",))
        else:
            self.request(t, "list", "system:serviceaccount:kube-system:endpointslice-controller", RS_UA,
                         {"resource": "endpointslices", "apiGroup": "discovery.k8s.io", "apiVersion": "v1"},
                         "/apis/discovery.k8s.io/v1/endpointslices?limit=500", stages=("ResponseComplete",))


def klog_lines(rng, t0, span, n):
    out = []
    for _ in range(n):
        t = t0 + dt.timedelta(seconds=rng.uniform(0, span))
        line = (f"I{t.strftime('%m%d %H:%M:%S.%f')}      10 trace.go:205] Trace[{rng.randint(1, 99999999)}]: "
                f"\"List\" url:/api/v1/pods,user-agent:kubelet/v1.22.6 (total time: {rng.randint(500, 900)}ms)")
        out.append((t, line))
    return out


def authenticator_lines(rng, t0, span, n):
    out = []
    for _ in range(n):
        t = t0 + dt.timedelta(seconds=rng.uniform(0, span))
        line = (f'time="{t.strftime("%Y-%m-%dT%H:%M:%SZ")}" level=info msg="access granted" '
                f'arn="arn:aws:iam::111122223333:role/eks-node-role" client="127.0.0.1:{rng.randint(30000, 60000)}" '
                f'groups="[system:bootstrappers system:nodes]" method=POST path=/authenticate uid="aws-iam-authenticator:1"')
        out.append((t, line))
    return out


def put(client, stream, records):
    """put_log_events in batches under the API limits (sorted, at most 1 MB and 10,000 events)."""
    records = sorted(records, key=lambda r: r[0])
    batch, size = [], 0
    for t, msg in records:
        n = len(msg.encode()) + 26
        if batch and (size + n > 900_000 or len(batch) >= 5000):
            client.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=batch)
            batch, size = [], 0
        batch.append({"timestamp": ms(t), "message": msg})
        size += n
    if batch:
        client.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=batch)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--minutes", type=int, default=40)
    ap.add_argument("--noise", type=int, default=9000)
    args = ap.parse_args()

    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    t0 = now - dt.timedelta(hours=3)
    span = args.minutes * 60
    g = Gen(args.seed, t0)
    rng = g.rng

    pods = []
    # The seed article's story: the same pod in fargate-ns (mutated by the Fargate webhook) and in default.
    pods.append(g.pod_story(t0 + dt.timedelta(seconds=120), "fargate-ns", "nginx", fargate=True, exec_=False)[:2])
    pods.append(g.pod_story(t0 + dt.timedelta(seconds=125), "default", "nginx", exec_=True)[:2])
    # ReplicaSet pods with generateName, an istio sidecar webhook; one deleted, one evicted.
    for i in range(6):
        end = {1: "delete", 4: "eviction"}.get(i)
        pods.append(g.pod_story(t0 + dt.timedelta(seconds=300 + 37 * i), "team-a", None, image="web:1.4",
                                generate="web-7d9c4b-", creator="system:serviceaccount:kube-system:replicaset-controller",
                                creator_ua=RS_UA, sidecar=True, delete=end, extra_labels={"app": "web"})[:2])
    # A pod deleted and created again under the same name: two incarnations.
    first = g.pod_story(t0 + dt.timedelta(seconds=600), "default", "job-runner", image="busybox", delete="delete")
    pods.append(first[:2])
    pods.append(g.pod_story(first[2] + dt.timedelta(seconds=5), "default", "job-runner", image="busybox")[:2])
    # Pods that never get Ready, more Fargate pods.
    pods.append(g.pod_story(t0 + dt.timedelta(seconds=900), "default", "stuck", image="nosuch:latest", ready=False)[:2])
    for i in range(3):
        pods.append(g.pod_story(t0 + dt.timedelta(seconds=1000 + 60 * i), "fargate-ns", f"batch-{i}", image="python:3.11",
                                fargate=True)[:2])
    # Denied creates.
    g.denied(t0 + dt.timedelta(seconds=700), "team-a", "bad-pod", "validate.kyverno.svc-fail")
    g.denied(t0 + dt.timedelta(seconds=710), "team-a", "bad-pod", "validate.kyverno.svc-fail")
    story_records = len(g.records)

    # Noise over the whole span.
    for _ in range(args.noise):
        g.noise(t0 + dt.timedelta(seconds=rng.uniform(0, span)))
    # One burst second with more events than a small query limit holds.
    burst = t0 + dt.timedelta(seconds=1500)
    for _ in range(700):
        g.noise(burst + dt.timedelta(microseconds=rng.randint(0, 990_000)))

    records = sorted(g.records, key=lambda r: r[0])
    # Exact re-deliveries of a few records (same auditID and stage), in the other stream.
    dups = [records[i] for i in rng.sample(range(len(records)), 5)]
    a_hex = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    b_hex = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    streams = {f"kube-apiserver-audit-{a_hex}": [], f"kube-apiserver-audit-{b_hex}": []}
    names = list(streams)
    for r in records:
        streams[names[rng.randrange(2)]].append(r)
    for r in dups:
        for n in names:
            if r not in streams[n]:
                streams[n].append(r)
                break
    # Two non-JSON lines in an audit stream: they must be skipped, not break anything.
    garbage = [(t0 + dt.timedelta(seconds=10), "E0920 audit backend: truncated event follows"),
               (t0 + dt.timedelta(seconds=11), '{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":')]
    streams[names[0]].extend(garbage)

    client = boto3.client("logs", region_name=os.environ["AWS_REGION"], endpoint_url=f"http://127.0.0.1:{args.port}")
    try:
        client.create_log_group(logGroupName=GROUP)
    except client.exceptions.ResourceAlreadyExistsException:
        print(f"log group {GROUP} already exists: start a fresh emulator", file=sys.stderr)
        return 1
    for name, recs in streams.items():
        client.create_log_stream(logGroupName=GROUP, logStreamName=name)
        put(client, name, recs)
    api = f"kube-apiserver-{''.join(rng.choice('0123456789abcdef') for _ in range(32))}"
    auth = f"authenticator-{''.join(rng.choice('0123456789abcdef') for _ in range(32))}"
    client.create_log_stream(logGroupName=GROUP, logStreamName=api)
    put(client, api, klog_lines(rng, t0, span, 400))
    client.create_log_stream(logGroupName=GROUP, logStreamName=auth)
    put(client, auth, authenticator_lines(rng, t0, span, 300))

    os.makedirs(args.out, exist_ok=True)
    all_lines = sorted((r for recs in streams.values() for r in recs), key=lambda r: r[0])
    path = os.path.join(args.out, "audit.jsonl")
    with open(path, "w") as f:
        for _, msg in all_lines:
            f.write(msg + "\n")
    keys = set()
    audit_lines = 0
    for _, msg in all_lines:
        try:
            ev = json.loads(msg)
        except ValueError:
            continue
        audit_lines += 1
        keys.add((ev["auditID"], ev["stage"]))
    manifest = {
        "cluster": CLUSTER,
        "logGroup": GROUP,
        "since": ts(t0 - dt.timedelta(minutes=1)),
        "until": ts(t0 + dt.timedelta(seconds=span + 120)),
        "burstSecond": ts(burst),
        "auditLines": audit_lines,
        "uniqueKeys": len(keys),
        "duplicates": audit_lines - len(keys),
        "storyRecords": story_records,
        "jsonl": os.path.abspath(path),
        "streams": names + [api, auth],
        "pods": [{"uid": uid, "name": name} for name, uid in pods],
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps({k: manifest[k] for k in ("auditLines", "uniqueKeys", "since", "until")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
