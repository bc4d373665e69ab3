package mskiceberg.testing.mskiam;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.apache.kafka.common.Endpoint;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.server.authorizer.AclCreateResult;
import org.apache.kafka.server.authorizer.AclDeleteResult;
import org.apache.kafka.server.authorizer.Action;
import org.apache.kafka.server.authorizer.AuthorizableRequestContext;
import org.apache.kafka.server.authorizer.AuthorizationResult;
import org.apache.kafka.server.authorizer.Authorizer;
import org.apache.kafka.server.authorizer.AuthorizerServerInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authorizes Kafka requests by an IAM policy, as MSK does for IAM-authenticated clients: each
 * Kafka (resource, operation) becomes a kafka-cluster:* action on an MSK ARN
 * ({@link KafkaActionMapping}), which needs Connect on the cluster, the action itself and its
 * required actions. Every denial is one WARN line naming the missing action and resource.
 *
 * <p>Broker configs: {@code msk.iam.policy.file} (re-read when it changes), {@code msk.iam.cluster.arn},
 * {@code msk.iam.unauthenticated.listeners} (e.g. PLAINTEXT,CONTROLLER: allowed without evaluation,
 * except requests that KRaft forwarded there on behalf of an IAM principal).
 */
public class MskIamAuthorizer implements Authorizer {
    static final String POLICY_FILE = "msk.iam.policy.file";
    static final String CLUSTER_ARN = "msk.iam.cluster.arn";
    static final String UNAUTHENTICATED_LISTENERS = "msk.iam.unauthenticated.listeners";
    private static final Logger LOG = LoggerFactory.getLogger(MskIamAuthorizer.class);
    private static final String NOT_ACLS = "this cluster is authorized by the IAM policy in " + POLICY_FILE
            + ", not by ACLs (as on Amazon MSK with IAM access control)";

    private ReloadingFile<IamPolicy> policy;
    private ClusterArn cluster;
    private Set<String> unauthenticatedListeners = Set.of();

    @Override
    public void configure(Map<String, ?> configs) {
        Object file = configs.get(POLICY_FILE);
        if (file == null || file.toString().isBlank()) {
            throw new ConfigException(POLICY_FILE + " (path of the IAM policy JSON) is not set");
        }
        Object arn = configs.get(CLUSTER_ARN);
        cluster = ClusterArn.parse(arn == null ? null : arn.toString().trim());
        Object listeners = configs.get(UNAUTHENTICATED_LISTENERS);
        if (listeners != null) {
            unauthenticatedListeners = Arrays.stream(listeners.toString().split(","))
                    .map(s -> s.trim().toUpperCase(Locale.ROOT)).filter(s -> !s.isEmpty())
                    .collect(Collectors.toUnmodifiableSet());
        }
        policy = new ReloadingFile<>(Path.of(file.toString().trim()), IamPolicy::parse);
        try {
            policy.get();
        } catch (IllegalStateException e) {
            throw new ConfigException(POLICY_FILE + " " + e.getMessage());
        }
        LOG.info("MSK IAM authorizer: policy {}, cluster {}, unauthenticated listeners {}", policy.path(),
                cluster.cluster(), unauthenticatedListeners);
    }

    @Override
    public Map<Endpoint, ? extends CompletionStage<Void>> start(AuthorizerServerInfo serverInfo) {
        Map<Endpoint, CompletableFuture<Void>> ready = new HashMap<>();
        for (Endpoint endpoint : serverInfo.endpoints()) {
            ready.put(endpoint, CompletableFuture.completedFuture(null));
        }
        return ready;
    }

    @Override
    public List<AuthorizationResult> authorize(AuthorizableRequestContext context, List<Action> actions) {
        List<AuthorizationResult> results = new ArrayList<>(actions.size());
        for (Action action : actions) {
            results.add(log(check(context, action)));
        }
        return results;
    }

    /**
     * Kafka asks this when a request is fine if the principal may act on at least one resource of
     * a type, e.g. InitProducerId of an idempotent producer without IDEMPOTENT_WRITE on the
     * cluster: allowed if it may write to some topic (KIP-679), which is MSK's documented
     * behaviour for WriteDataIdempotently on Kafka 2.8+.
     */
    @Override
    public AuthorizationResult authorizeByResourceType(AuthorizableRequestContext context, AclOperation op,
                                                       ResourceType resourceType) {
        return log(checkByResourceType(context, op, resourceType));
    }

    /** Why a request is denied (the DENIED line), or null when it is allowed. */
    Denial check(AuthorizableRequestContext context, Action request) {
        if (skipsEvaluation(context)) {
            return null;
        }
        String principal = context.principal().getName();
        ResourcePattern resource = request.resourcePattern();
        String action = KafkaActionMapping.action(resource.resourceType(), request.operation());
        if (action == null) {
            return new Denial(request.logIfDenied(), principal, "none",
                    resource.resourceType() + ":" + resource.name(),
                    "no kafka-cluster action for Kafka operation " + request.operation() + " on "
                            + resource.resourceType());
        }
        String arn = cluster.of(resource.resourceType(), resource.name());
        List<PolicyStatement> statements;
        try {
            statements = policy.get().statementsFor(principal);
        } catch (IllegalStateException e) {
            return new Denial(true, principal, action, arn, "policy file " + e.getMessage());
        }
        Decision connect = PolicyEvaluator.evaluate(statements, KafkaActionMapping.CONNECT, cluster.cluster());
        if (!connect.allowed()) {
            return new Denial(request.logIfDenied(), principal, KafkaActionMapping.CONNECT, cluster.cluster(),
                    connect.reason());
        }
        for (String needed : KafkaActionMapping.actionsOnResource(action)) {
            Decision d = PolicyEvaluator.evaluate(statements, needed, arn);
            if (!d.allowed()) {
                return new Denial(request.logIfDenied(), principal, needed, arn, d.reason());
            }
        }
        return null;
    }

    /** As {@link #check} for "some resource of this type" (see authorizeByResourceType). */
    Denial checkByResourceType(AuthorizableRequestContext context, AclOperation op, ResourceType resourceType) {
        if (skipsEvaluation(context)) {
            return null;
        }
        String principal = context.principal().getName();
        String action = KafkaActionMapping.action(resourceType, op);
        if (action == null) {
            return new Denial(true, principal, "none", resourceType + ":*",
                    "no kafka-cluster action for Kafka operation " + op + " on " + resourceType);
        }
        boolean isCluster = resourceType == ResourceType.CLUSTER;
        String prefix = cluster.prefix(resourceType);
        String shown = isCluster ? prefix : prefix + "*";
        List<PolicyStatement> statements;
        try {
            statements = policy.get().statementsFor(principal);
        } catch (IllegalStateException e) {
            return new Denial(true, principal, action, shown, "policy file " + e.getMessage());
        }
        Decision connect = PolicyEvaluator.evaluate(statements, KafkaActionMapping.CONNECT, cluster.cluster());
        if (!connect.allowed()) {
            return new Denial(true, principal, KafkaActionMapping.CONNECT, cluster.cluster(), connect.reason());
        }
        for (String needed : KafkaActionMapping.actionsOnResource(action)) {
            Decision d = isCluster
                    ? PolicyEvaluator.evaluate(statements, needed, prefix)
                    : PolicyEvaluator.evaluateAny(statements, needed, prefix, ClusterArn.nameChar(resourceType));
            if (!d.allowed()) {
                return new Denial(true, principal, needed, shown,
                        d.reason() + (isCluster ? "" : " for any " + resourceType));
            }
        }
        return null;
    }

    /**
     * A denial as one log line. Kafka marks the probes whose denial is expected (e.g. "may it
     * create topics cluster-wide?" before the per-topic check) as not to be logged; those go to
     * DEBUG instead of WARN.
     */
    record Denial(boolean logAtWarn, String principal, String action, String resource, String reason) {
        String line() {
            return "DENIED principal=" + principal + " action=" + action + " resource=" + resource + " (" + reason
                    + ")";
        }
    }

    private static AuthorizationResult log(Denial denial) {
        if (denial == null) {
            return AuthorizationResult.ALLOWED;
        }
        if (denial.logAtWarn()) {
            LOG.warn(denial.line());
        } else {
            LOG.debug(denial.line());
        }
        return AuthorizationResult.DENIED;
    }

    /**
     * Unauthenticated listeners carry the test harness's admin traffic and KRaft's own; but the
     * controller also receives, on its listener, requests the broker forwarded for an IAM client
     * (CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs...), with that client's
     * principal. Those are evaluated like any other IAM request.
     */
    private boolean skipsEvaluation(AuthorizableRequestContext context) {
        return context.listenerName() != null
                && unauthenticatedListeners.contains(context.listenerName().toUpperCase(Locale.ROOT))
                && !isIamPrincipal(context.principal().getName());
    }

    private static boolean isIamPrincipal(String name) {
        return name != null && name.startsWith("arn:");
    }

    @Override
    public List<? extends CompletionStage<AclCreateResult>> createAcls(AuthorizableRequestContext context,
                                                                        List<AclBinding> aclBindings) {
        return aclBindings.stream()
                .map(b -> CompletableFuture.completedFuture(new AclCreateResult(new InvalidRequestException(NOT_ACLS))))
                .toList();
    }

    @Override
    public List<? extends CompletionStage<AclDeleteResult>> deleteAcls(AuthorizableRequestContext context,
                                                                        List<AclBindingFilter> filters) {
        return filters.stream()
                .map(f -> CompletableFuture.completedFuture(new AclDeleteResult(new InvalidRequestException(NOT_ACLS))))
                .toList();
    }

    @Override
    public Iterable<AclBinding> acls(AclBindingFilter filter) {
        return List.of();
    }

    @Override
    public void close() {
    }
}
