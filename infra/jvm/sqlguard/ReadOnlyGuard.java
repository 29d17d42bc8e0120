/*
 * The read-only guard of the analysts' SQL endpoint (`riskctl sql-server`).
 *
 * Spark 4.0's Thrift server has no read-only switch, so this Spark session extension adds a
 * check rule that runs on every analyzed plan, before any command executes, and refuses:
 *   - every command (DDL, DML, ADD JAR, CACHE, ANALYZE, OPTIMIZE, VACUUM, ...) that is not on a
 *     short allow-list of read-only ones (SHOW, DESCRIBE, EXPLAIN, USE, SET, ...);
 *   - TRANSFORM ... USING 'script' (runs a shell command) and reflect()/java_method();
 *   - SET of the confs that keep other data out of reach (spark.sql.runSQLOnFiles and
 *     spark.sql.catalog.*).
 * It checks plans, not table names, so path-based writes (INSERT INTO delta.`/lake/...`) are
 * refused too, whatever catalog or path they name. Spark loads it from `spark.sql.extensions`;
 * jobs/sql_server.py compiles this file once with javac against pyspark's jars.
 */
package risk.sql;

import java.util.Locale;
import java.util.Set;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.plans.logical.Command;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.command.SetCommand;

import scala.Function1;
import scala.Option;
import scala.Tuple2;
import scala.runtime.AbstractFunction1;
import scala.runtime.BoxedUnit;

public final class ReadOnlyGuard extends AbstractFunction1<SparkSessionExtensions, BoxedUnit> {

  /** Commands that only read metadata or session settings (logical and physical-command names). */
  static final Set<String> READ_ONLY_COMMANDS = Set.of(
      "SetCommand", "ResetCommand", "SetCatalogAndNamespace", "SetNamespaceCommand",
      "SetCatalogCommand", "ShowCurrentNamespace", "ShowCurrentNamespaceCommand",
      "ShowTables", "ShowTablesExtended", "ShowTablesCommand", "ShowViews", "ShowViewsCommand",
      "ShowNamespaces", "ShowNamespacesCommand", "ShowCatalogs", "ShowCatalogsCommand",
      "ShowColumns", "ShowColumnsCommand", "ShowFunctions", "ShowFunctionsCommand",
      "ShowCreateTable", "ShowCreateTableCommand", "ShowCreateTableAsSerdeCommand",
      "ShowTableProperties", "ShowTablePropertiesCommand", "ShowPartitions",
      "ShowPartitionsCommand", "DescribeRelation", "DescribeColumn", "DescribeNamespace",
      "DescribeFunction", "DescribeTableCommand", "DescribeTableJsonCommand",
      "DescribeColumnCommand", "DescribeDatabaseCommand", "DescribeFunctionCommand",
      "DescribeQueryCommand", "ExplainCommand", "DescribeDeltaHistory",
      "DescribeDeltaHistoryCommand", "DescribeDeltaDetailCommand");

  /** Plan nodes refused even though they are not commands. */
  static final Set<String> REFUSED_NODES = Set.of(
      "ScriptTransformation", "HiveScriptTransformation", "InsertIntoStatement",
      "DeltaDelete", "DeltaUpdateTable", "DeltaMergeInto", "DeleteFromTable", "UpdateTable",
      "MergeIntoTable");

  /** Expressions that call arbitrary JVM code. */
  static final Set<String> REFUSED_EXPRESSIONS = Set.of("CallMethodViaReflection");

  /**
   * Confs an analyst may read but not change: SQL on files would reach the raw zone, and a
   * catalog plugin set at run time (spark.sql.catalog.x=...) could reach other data sources.
   */
  static final Set<String> LOCKED_CONFS = Set.of("spark.sql.runsqlonfiles");
  static final String LOCKED_PREFIX = "spark.sql.catalog.";

  @Override
  public BoxedUnit apply(SparkSessionExtensions extensions) {
    extensions.injectCheckRule(new AbstractFunction1<SparkSession, Function1<LogicalPlan, BoxedUnit>>() {
      @Override
      public Function1<LogicalPlan, BoxedUnit> apply(SparkSession session) {
        return new Check();
      }
    });
    return BoxedUnit.UNIT;
  }

  /** The check rule: throws before the plan runs when any node of it would write. */
  static final class Check extends AbstractFunction1<LogicalPlan, BoxedUnit>
      implements java.io.Serializable {
    @Override
    public BoxedUnit apply(LogicalPlan plan) {
      plan.foreachWithSubqueries(new AbstractFunction1<LogicalPlan, BoxedUnit>() {
        @Override
        public BoxedUnit apply(LogicalPlan node) {
          checkNode(node);
          return BoxedUnit.UNIT;
        }
      });
      return BoxedUnit.UNIT;
    }
  }

  static void checkNode(LogicalPlan node) {
    String name = node.getClass().getSimpleName();
    if (REFUSED_NODES.contains(name)
        || (node instanceof Command && !READ_ONLY_COMMANDS.contains(name))) {
      throw refused(name);
    }
    if (node instanceof SetCommand) {
      Option<Tuple2<String, Option<String>>> kv = ((SetCommand) node).kv();
      if (kv.isDefined() && kv.get()._2().isDefined()) {
        String key = kv.get()._1().trim().toLowerCase(Locale.ROOT);
        if (LOCKED_CONFS.contains(key) || key.startsWith(LOCKED_PREFIX)) {
          throw new ReadOnlyViolation("READ_ONLY: the risk SQL endpoint is read-only; "
              + kv.get()._1().trim() + " cannot be changed here (it keeps other data out of SQL)");
        }
      }
    }
    node.expressions().foreach(new AbstractFunction1<Expression, BoxedUnit>() {
      @Override
      public BoxedUnit apply(Expression root) {
        root.foreach(new AbstractFunction1<Expression, BoxedUnit>() {
          @Override
          public BoxedUnit apply(Expression e) {
            if (REFUSED_EXPRESSIONS.contains(e.getClass().getSimpleName())) {
              throw refused(e.prettyName() + "()");
            }
            return BoxedUnit.UNIT;
          }
        });
        return BoxedUnit.UNIT;
      }
    });
  }

  static ReadOnlyViolation refused(String what) {
    return new ReadOnlyViolation("READ_ONLY: the risk SQL endpoint is read-only; " + what
        + " is refused (only queries, SHOW, DESCRIBE, EXPLAIN, USE and SET are allowed)");
  }

  /** The one error analysts see: its message names what was refused and what is allowed. */
  public static final class ReadOnlyViolation extends SecurityException {
    public ReadOnlyViolation(String message) {
      super(message);
    }
  }
}
