/** Rewrites the token files on a schedule (an interval in SchedulerRegistry), as a sidecar would. */
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DEMO_CONTEXT, type DemoContext } from './demo-context.js';

export const FILE_ROTATION_INTERVAL = 'demo:token-file-rotation';

@Injectable()
export class FileRotationService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('TokenFileSidecar');

  constructor(
    private readonly scheduler: SchedulerRegistry,
    @Inject(DEMO_CONTEXT) private readonly ctx: DemoContext,
  ) {}

  onModuleInit(): void {
    const timer = setInterval(() => {
      this.ctx.writer.rotate().catch((error: Error) => this.logger.warn(`token file rotation failed: ${error.message}`));
    }, this.ctx.options.fileRotateMs);
    this.scheduler.addInterval(FILE_ROTATION_INTERVAL, timer);
  }

  /**
   * Fresh files once the app is up: the first ones were written before the file sources started watching,
   * and a loaded machine can take longer than a short token's lifetime to bootstrap.
   */
  async onApplicationBootstrap(): Promise<void> {
    await this.ctx.writer.rotate().catch((error: Error) => this.logger.warn(`token file rotation failed: ${error.message}`));
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', FILE_ROTATION_INTERVAL)) this.scheduler.deleteInterval(FILE_ROTATION_INTERVAL);
  }
}
