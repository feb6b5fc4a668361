import { Controller, Get } from '@nestjs/common';
import { AppService } from './app.service';

@Controller()
export class AppController {
  constructor(private readonly appService: AppService) {}

  @Get()
  getHello(): string {
    return this.appService.getHello();
  }

  @Get('report')
  getReport(): Promise<unknown> {
    return this.appService.getReport();
  }

  @Get('package-check')
  packageCheck() {
    return this.appService.packageCheck();
  }
}
